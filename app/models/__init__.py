"""All ORM models, in one package (schemas live apart, in each domain's schemas.py)."""
from .accounts import ROLES, AuthSession, SignIn, User
from .base import Base, utcnow
from .classes import ClassEnrolment, ClassEvent, ClassKnowledgePoint
from .lessons import Lesson, LessonKnowledgePoint, LessonPlay, LessonSearchDoc, LessonView
from .org import City, District, School, SchoolClass
from .qa import QaImage, QaNotification, QaReply, QaReport, QaSearchDoc, QuestionKnowledgePoint
from .records import (ActivityBlock, ActivityHour, Answer, CalendarDay, ClassAttendance, LiveClass, PointsEntry, Question, SessionEvent,
                      SchoolDay, SessionReport, SignInBlock, SignInHour, TutoringSession)
from .rollups import ClassMonth, KnowledgePointDay, PointsMonth, SchoolDayStudents, SchoolMonth, StudentDay, StudentMonth, StudentRegistration, TutorDay, TutorMonth
from .requests import HelpRequest, HelpRequestKnowledgePoint, Image
from .subjects import KnowledgePoint, Subject
from .tutors import StudentBlock, TutorExpertise, TutorProfile, TutorReview, TutorSubject

__all__ = [
    "ClassEnrolment", "ClassEvent", "ClassKnowledgePoint",
    "ActivityBlock", "ActivityHour", "ClassAttendance", "LiveClass", "SchoolDay", "SignInBlock", "SignInHour",
    "ROLES", "Answer", "AuthSession", "Base", "CalendarDay", "City", "District", "HelpRequest",
    "HelpRequestKnowledgePoint", "Image", "Lesson", "LessonKnowledgePoint", "LessonPlay", "LessonSearchDoc", "LessonView", "KnowledgePoint", "PointsEntry", "Question", "School",
    "SchoolClass", "SessionEvent", "SessionReport", "SignIn", "StudentBlock", "Subject", "TutorExpertise", "TutorProfile",
    "TutorReview", "TutorSubject", "TutoringSession", "User", "utcnow",
    "QaImage", "QaNotification", "QaReply", "QaReport", "QaSearchDoc", "QuestionKnowledgePoint",
    "ClassMonth", "KnowledgePointDay", "PointsMonth", "SchoolDayStudents", "SchoolMonth", "StudentDay", "StudentMonth", "StudentRegistration", "TutorDay", "TutorMonth",
]
