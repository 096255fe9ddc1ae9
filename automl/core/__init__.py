"""The search core shared by tables and time series.

It holds what does not depend on the kind of data: the validated spec of the user's arguments
(:mod:`~automl.core.spec`), the time budget (:mod:`~automl.core.budget`), typed records and tag
keys (:mod:`~automl.core.records`, :mod:`~automl.core.tags`), the executor interface and its
local-process implementation (:mod:`~automl.core.executor`, :mod:`~automl.core.local_executor`,
:mod:`~automl.core.worker`), the task-strategy interface (:mod:`~automl.core.task`) and the one
search loop (:mod:`~automl.core.search`). Nothing here imports ``automl.tabular`` or
``automl.forecast``: they plug into the loop through :class:`~automl.core.task.Task`.
"""
