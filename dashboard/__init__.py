"""The ITW Radar Streamlit dashboard (`itw-radar serve`, or `streamlit run dashboard/app.py`)."""
