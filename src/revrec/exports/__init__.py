"""Writing files for other systems: the legacy schedules export and its XLSX writer, over frames,
streamed a page at a time."""
