"""Object storage (MinIO / any S3) for documents and results."""
