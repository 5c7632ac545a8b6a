"""Runtime files (icons, lessons, styles), shipped inside the installed package as rnnviz.resources."""
