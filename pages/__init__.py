"""Streamlit pages of the Runlens app; shared page helpers live in ``pages.ui``."""
