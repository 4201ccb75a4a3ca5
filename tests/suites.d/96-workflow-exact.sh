# The workflow, exact (issue 12) on the sandbox: the docs' custom step run as
# written, step tables in the config (confined), needs errors, InitQuery
# convergence, renamed share/proxy replaced, VPC CIDRs on the graph.
exec bin/kumo run /usr/bin/busted -o TAP tests/e2e/workflow_exact_spec.lua
