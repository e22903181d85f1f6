"""revrec's commands by area, each module with a `register(app)`; a command parses its
arguments, calls one service and renders the result."""
