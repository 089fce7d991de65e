"""Pure logic of the memory service: episodes, cursors, partition plans. No I/O."""
