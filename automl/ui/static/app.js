// Charts of the UI pages, drawn with the vendored Plotly from JSON the server embedded.
(function () {
  "use strict";
  // A new layout object per chart: Plotly keeps the object it is given and writes its axes into
  // it, so one shared object would carry one chart's axes (without titles) into the next.
  function layout(extra) {
    return Object.assign({ margin: { t: 20, r: 10, b: 40, l: 50 }, height: 260 }, extra || {});
  }
  var cfg = { displaylogo: false, responsive: true };

  function histories() {
    document.querySelectorAll(".history-chart").forEach(function (el) {
      var s = JSON.parse(el.dataset.series);
      Plotly.newPlot(el, [{ x: s.x, y: s.y, name: s.name, mode: "lines", type: "scatter", connectgaps: false }], layout(), cfg);
    });
  }

  function best() {
    var el = document.getElementById("best-chart");
    var data = document.getElementById("best-data");
    if (!el || !data) return;
    var s = JSON.parse(data.textContent);
    var x = s.x.map(function (ms) { return new Date(ms); });
    Plotly.react(el, [{ x: x, y: s.y, name: s.name, mode: "lines+markers", line: { shape: "hv" } }],
      layout({ title: { text: s.name + " over " + s.trials + " trials" } }), cfg);
  }

  // The column chooser: the chosen columns go into the URL (shareable) and into localStorage
  // (per experiment), which restores them when the leaderboard is opened without them.
  function columns() {
    var box = document.getElementById("column-chooser");
    if (!box) return;
    var param = box.dataset.param, store = "automl-ui-columns:" + box.dataset.experiment;
    var url = new URL(window.location.href);
    var saved = window.localStorage.getItem(store);
    if (!url.searchParams.has(param) && saved !== null) {
      url.searchParams.set(param, saved);
      window.location.replace(url.toString());
      return;
    }
    document.getElementById("apply-columns").addEventListener("click", function () {
      var chosen = Array.from(box.querySelectorAll("input[type=checkbox]:checked"))
        .map(function (c) { return c.value; }).join(",");
      window.localStorage.setItem(store, chosen);
      url.searchParams.set(param, chosen);
      url.searchParams.delete("page_token");
      window.location.assign(url.toString());
    });
    document.getElementById("reset-columns").addEventListener("click", function () {
      window.localStorage.removeItem(store);
      url.searchParams.delete(param);
      window.location.assign(url.toString());
    });
  }

  // Runs ticked for comparison stay ticked when the table refreshes itself.
  var ticked = [];
  function remember() {
    ticked = Array.from(document.querySelectorAll('#runs input[name="run"]:checked'))
      .map(function (c) { return c.value; });
  }
  function refreshed() {
    ticked.forEach(function (id) {
      var box = document.querySelector('#runs input[name="run"][value="' + CSS.escape(id) + '"]');
      if (box) box.checked = true;
    });
    best();
  }

  function compare() {
    var data = document.getElementById("compare-data");
    if (!data) return;
    var d = JSON.parse(data.textContent);
    var primary = d.metrics.find(function (m) { return m.indexOf("val_") === 0; }) || d.metrics[0];
    var dims = d.params.map(function (p) {
      var vals = d.runs.map(function (r) { return r.params[p]; });
      var nums = vals.map(Number);
      if (nums.every(function (v) { return !isNaN(v); })) return { label: p, values: nums };
      var cats = Array.from(new Set(vals.map(String)));
      return { label: p, values: vals.map(function (v) { return cats.indexOf(String(v)); }),
               tickvals: cats.map(function (_, i) { return i; }), ticktext: cats };
    });
    if (primary) dims.push({ label: primary, values: d.runs.map(function (r) { return r.metrics[primary]; }) });
    Plotly.newPlot("parcoords", [{ type: "parcoords", dimensions: dims,
      line: { color: d.runs.map(function (r) { return r.metrics[primary]; }), showscale: true } }],
      { height: 360, margin: { t: 40, l: 60, r: 60, b: 20 } }, cfg);
    function scatter() {
      var px = document.getElementById("scatter-x").value, my = document.getElementById("scatter-y").value;
      Plotly.react("scatter", [{ type: "scatter", mode: "markers+text",
        x: d.runs.map(function (r) { return r.params[px]; }), y: d.runs.map(function (r) { return r.metrics[my]; }),
        text: d.runs.map(function (r) { return r.name; }), textposition: "top center" }],
        layout({ xaxis: { title: { text: px } }, yaxis: { title: { text: my } } }), cfg);
    }
    document.getElementById("scatter-x").addEventListener("change", scatter);
    document.getElementById("scatter-y").addEventListener("change", scatter);
    scatter();
    var traces = [];
    d.runs.forEach(function (r) {
      Object.keys(r.histories).forEach(function (k) {
        var h = r.histories[k];
        if (h.x.length > 1) traces.push({ x: h.x, y: h.y, name: r.name + " " + k, mode: "lines" });
      });
    });
    if (traces.length) {
      var el = document.createElement("div"); el.id = "overlay"; el.className = "chart";
      document.querySelector("main").appendChild(el);
      Plotly.newPlot(el, traces, layout(), cfg);
    }
  }

  // The run page's load-model snippet: copied to the clipboard (or selected, to copy by hand).
  function snippet() {
    var button = document.getElementById("copy-snippet");
    if (!button) return;
    button.addEventListener("click", function () {
      var pre = document.getElementById(button.dataset.target);
      var range = document.createRange();
      range.selectNodeContents(pre);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      var done = function () { button.textContent = "Copied"; };
      var selected = function () { button.textContent = "Selected: press Ctrl+C"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(pre.textContent).then(done, selected);
      } else {
        selected();
      }
    });
  }

  histories(); best(); compare(); columns(); snippet();
  ["htmx:before:swap", "htmx:beforeSwap"].forEach(function (e) { document.body.addEventListener(e, remember); });
  ["htmx:after:swap", "htmx:afterSwap"].forEach(function (e) { document.body.addEventListener(e, refreshed); });
})();
