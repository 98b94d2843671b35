"""marshmallow schemas: XCreate / XUpdate / XOut; they validate and shape, never query."""
