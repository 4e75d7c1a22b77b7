"""Mission-critical and success services as pure rules: Azure Events (R-EVT-1,
R-EVT-2), MCSAP onboarding and monitoring (R-MCSAP-2, R-MCSAP-3), Service
Improvement Plans (R-MCSAP-4) and success plans (R-SUC-2)."""
