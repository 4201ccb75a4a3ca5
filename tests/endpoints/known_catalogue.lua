-- Cases of tests/endpoints/compare_catalogue.lua where kumo and botocore
-- differ for a reason written here (each must still differ, or the suite
-- says the entry is stale). `kind` says whose: "kumo-gap" is kumo's
-- missing feature, owned elsewhere and reported; none is botocore's bug.
return {
  { service = "neptune-graph", region = "*", variant = "*", kind = "kumo-gap",
    why = "every operation sets the rule set's required ApiType through staticContextParams; "
      .. "kumo resolves one endpoint per client (kumo.endpoints.resolve has no operation "
      .. "context parameters), so its rule set fails for lack of ApiType. botocore resolves "
      .. "per operation. Nine services use operation context parameters (s3, s3control, "
      .. "kinesis, dynamodb, arc-region-switch, cloudfront-keyvaluestore, events, sesv2, "
      .. "neptune-graph); only neptune-graph cannot resolve without them" },
  { service = "s3", region = "us-east-1", variant = "plain", kind = "kumo-gap",
    why = "botocore sets AWS::S3::UseGlobalEndpoint for us-east-1 (its s3 "
      .. "us_east_1_regional_endpoint setting defaults to legacy): s3.amazonaws.com; "
      .. "kumo.endpoints sets no S3 builtIns yet and gets s3.us-east-1.amazonaws.com, "
      .. "which serves the same buckets (S3's builtIns are the S3 work of issue 13)" },
}
