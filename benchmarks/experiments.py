"""A/B switches for the real-window diagnosis (see realwindow.py --env RNNVIZ_EXPERIMENT=...)."""
