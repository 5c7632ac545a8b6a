"""rnnviz's application core: settings, the compute path and display-ready frames. No Qt."""
