"""HTTP core and domain packages of the open online tutoring service."""
