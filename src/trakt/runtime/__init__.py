"""Planning and running: execution plans, the local runner, step context, the manifest."""
