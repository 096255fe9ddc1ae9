"""Model serving: ``automl serve`` speaks MLflow's scoring protocol over registered models,
splits traffic between routes for A/B tests and follows aliases as they move.

    automl serve models:/churn@production --port 8080
    automl serve --route champion=models:/churn@production:90 \\
                 --route challenger=models:/churn@staging:10 --log-predictions
"""

from automl.serving.app import create_app
from automl.serving.config import ServeConfig
from automl.serving.inference_log import load_inference_table
from automl.serving.payload import ServingError
from automl.serving.routes import Route, RouteAssigner, check_routes, parse_route
from automl.serving.scoring import ScoredRequest, score_request

__all__ = [
    "Route",
    "RouteAssigner",
    "ScoredRequest",
    "ServeConfig",
    "ServingError",
    "check_routes",
    "create_app",
    "load_inference_table",
    "parse_route",
    "score_request",
]
