"""What the inspector is told: the table of INSPECTOR_* settings (settings.py) and the one
frozen Config built from them (config.py). Nothing here imports a backend's code.
"""
