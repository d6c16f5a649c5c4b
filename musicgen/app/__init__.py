"""What the Streamlit ``app.py`` needs that is not Streamlit: settings and permalinks, the composer session,
rendering of ABC and sound for the page. It may import every layer below it; it never imports Streamlit
itself.
"""
