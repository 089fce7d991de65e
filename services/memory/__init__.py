"""memory service: Episodic memory of every pipeline run."""
