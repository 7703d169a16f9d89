"""One bucket of an S3-compatible server, as its owner handles it with boto3.
Run by the Python of a virtualenv that has boto3 (the tests' own has not), with
the credentials and region in boto3's environment variables:

    python s3_bucket.py ENDPOINT BUCKET create
    python s3_bucket.py ENDPOINT BUCKET put KEY      (the bytes on stdin)
    python s3_bucket.py ENDPOINT BUCKET get KEY      (the bytes on stdout)
    python s3_bucket.py ENDPOINT BUCKET delete KEY
    python s3_bucket.py ENDPOINT BUCKET keys         (a JSON list on stdout)
"""

import json
import sys

import boto3


def main(endpoint: str, bucket: str, operation: str, *key: str) -> None:
    s3 = boto3.client("s3", endpoint_url=endpoint)
    if operation == "create":
        s3.create_bucket(Bucket=bucket)
    elif operation == "put":
        s3.put_object(Bucket=bucket, Key=key[0], Body=sys.stdin.buffer.read())
    elif operation == "get":
        sys.stdout.buffer.write(s3.get_object(Bucket=bucket, Key=key[0])["Body"].read())
    elif operation == "delete":
        s3.delete_object(Bucket=bucket, Key=key[0])
    elif operation == "keys":
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        print(json.dumps([item["Key"] for page in pages for item in page.get("Contents", [])]))
    else:
        raise SystemExit(f"unknown operation {operation!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
