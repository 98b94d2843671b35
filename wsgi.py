"""WSGI entry point: `gunicorn wsgi:app`, and what `flask` finds from the project root."""

from app import create_app
from app.serving import tune_collector

app = create_app()
# A serving process: what start-up built is kept for its life (`app.serving`).
tune_collector()
