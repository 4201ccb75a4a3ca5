# The sandbox's extensions of moto: RDS proxy endpoints, lifecycles and target
# health; RAM/EC2 sharing in the three organization modes; faults and statistics;
# where moto differs from AWS, AWS's rules (security-group rules, references,
# client tokens, target-group settings, moto's unsigned API, random faults).
exec python3 tests/sandbox/run.py -j 3 test_rds test_ram_ec2 test_faults test_inprocess test_aws_rules test_s3_conditional
