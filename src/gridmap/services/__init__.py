"""gridmap.services: the domain rules: who may, which step is allowed, what a change writes together."""  # noqa: E501
