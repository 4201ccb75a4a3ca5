# kumo.endpoint_rules, the endpoint rule-set evaluator, on its own: each
# function (also against botocore's RuleSetStandardLibrary), templates,
# assign, error and tree rules, parameters, unknown functions.
exec bin/kumo run /usr/bin/busted -o TAP tests/modules/kumo/endpoint_rules_spec.lua
