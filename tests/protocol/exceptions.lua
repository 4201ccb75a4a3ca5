--- Conformance cases kumo knowingly does not pass, each with its reason.
-- Keys are case ids (or "<file>: <suite description> #<n>" for legacy cases).
return {
}
