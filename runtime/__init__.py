"""Running compiled models: the execution plan, the executor and the `.kfa` artifact."""
