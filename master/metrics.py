"""GET /metrics: the master's Prometheus metrics."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("metrics", __name__)
