#!/usr/bin/env python3
"""A local HTTP server for bench/parts.d/25-catalogue.sh: answers every
request at once with a small, valid response of the service the path or
headers name (EC2 DescribeRegions, S3 ListBuckets, DynamoDB ListTables),
so both clients pay the same for the network. Prints its port."""
import http.server
import sys

EC2 = (b'<?xml version="1.0" encoding="UTF-8"?>\n<DescribeRegionsResponse '
       b'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId>'
       b'<regionInfo><item><regionName>us-east-1</regionName>'
       b'<regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint></item></regionInfo>'
       b'</DescribeRegionsResponse>')
S3 = (b'<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult '
      b'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>o</ID></Owner>'
      b'<Buckets><Bucket><Name>b1</Name><CreationDate>2024-01-01T00:00:00.000Z</CreationDate>'
      b'</Bucket></Buckets></ListAllMyBucketsResult>')
DDB = b'{"TableNames":["t1"]}'


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.headers.get("X-Amz-Target", "").startswith("DynamoDB"):
            out, ctype = DDB, "application/x-amz-json-1.0"
        elif b"Action=DescribeRegions" in body:
            out, ctype = EC2, "text/xml"
        else:
            out, ctype = S3, "application/xml"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(out)))
        self.send_header("x-amzn-RequestId", "r-1")
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(srv.server_address[1], flush=True)
    sys.stdout.close()
    srv.serve_forever()


if __name__ == "__main__":
    main()
