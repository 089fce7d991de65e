"""trend service: Story clusters, bursts above baseline, trend reports."""
