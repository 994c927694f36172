# VAR: undeclared=1 # ERROR: Value for undeclared variable
# VAR: max_age=ninety

variable "regions" {
  type    = list(string)
  default = [] # ERROR: Invalid value for variable

  validation {
    condition     = length(var.regions) > 0
    error_message = "Name at least one region."
  }
}

variable "max_age" { # ERROR: Invalid value for variable
  type    = number
  default = 90
}

variable "owner" { # ERROR: No value for required variable
  type = string
}

variable "count" {
  type    = number
  default = "many" # ERROR: Invalid value for variable
}

variable "mode" {
  type    = strin # ERROR: Invalid type specification
  default = "auto"
}

locals {
  a = local.b # ERROR: Cycle in local values
  b = local.a # ERROR: Cycle in local values
  c = local.d # ERROR: Reference to undeclared local value
}
