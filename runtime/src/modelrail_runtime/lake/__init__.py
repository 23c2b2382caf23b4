"""The lake around the service: ground-truth labels, realized performance, compaction."""
