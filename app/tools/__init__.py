"""The app's own measuring and operator scripts (`python -m app.tools.NAME`); the app never imports them."""
