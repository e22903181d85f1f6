"""The accounting engine: pure functions from frames to frames.

Never does I/O, reads a clock or touches a database; imports nothing of ours but money and calendar.
"""
