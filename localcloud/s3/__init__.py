"""S3 in the local cloud: copies as S3 makes them, and ``AWS::S3::BucketPolicy``."""
