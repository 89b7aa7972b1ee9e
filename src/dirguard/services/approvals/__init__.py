"""Approval workflows: a web action a policy covers waits for approval by named people, an
Entra group's members or the object's manager (N of M), expires, escalates, and runs — as the
requester, under the same delegation check and audit — once approved."""
