"""What both sides of the wire share: job states, encoders, density search and defaults, durations, environment names.

``master/`` and ``agent/`` both import this package; it imports neither (an agent host installs only what it needs).
"""
