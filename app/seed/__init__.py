"""Reference data (subjects, knowledge points) and the demo city."""
