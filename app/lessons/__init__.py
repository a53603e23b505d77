"""Micro-lessons (微课学习): tutors publish short recorded lessons, admins review them, students
watch them, and the service counts clicks and complete views honestly."""
