"""What endpoints cost: the estimate at launch, the meter of what ran, spend reports and the weekly digest."""
