"""Running the inspector as a service: maintenance windows (windows.py, service.py),
notifications (notify.py) and Prometheus metrics (metrics.py).
"""
