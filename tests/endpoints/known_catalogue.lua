-- Cases of tests/endpoints/compare_catalogue.lua where kumo and botocore
-- differ for a reason written here (each must still differ, or the suite
-- says the entry is stale). `kind` says whose: "kumo-gap" is kumo's
-- missing feature, owned elsewhere and reported; none is botocore's bug.
-- (Empty: neptune-graph's ApiType and S3's global us-east-1 endpoint, the
-- two kumo gaps once listed, are resolved as botocore does.)
return {
}
