"""The web UI: server-rendered pages for nodes, campaigns and jobs."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static")
