from django.urls import path

from grades import views

urlpatterns = [
    path("", views.index, name="index"),
    path("submissions/", views.submit, name="submit"),
    path("submissions/<int:pk>/", views.detail, name="detail"),
    path("submissions/<int:pk>/poll", views.poll, name="poll"),
    path("submissions/<int:pk>/wait", views.wait, name="wait"),
]
