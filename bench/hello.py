"""The bare Flask app every figure is compared with: one route, no database, no templates."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    """Say hello."""
    return "Hello, World!"
