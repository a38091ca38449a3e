"""What both sides of the wire share: job states (states), scenario kinds with their fields, metrics and plans
(kinds/), encoders (encoders), content presets (content), the names of quality metrics and encoding parameters
(fields), durations, environment names (env), the client error vocabulary (errors) and the command-line options both
CLIs take (options).

``master/`` and ``agent/`` both import this package; it imports neither (an agent host installs only what it needs).
"""
