"""The Q&A centre (问答中心): see app/qa/service.py."""
