from .projects import project_detail, project_list

__all__ = ["project_detail", "project_list"]
