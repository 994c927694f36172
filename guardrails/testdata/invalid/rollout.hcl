target "canary" {
  accounts = ["111122223333"]
}

rollout "waves" {
  concurrency         = 0 # ERROR: Value out of range
  pause_between_waves = "soon" # ERROR: Invalid duration

  wave "canary" {
    target         = target.canary
    failure_budget = "150%" # ERROR: Invalid failure budget
  }
  wave "canary" { # ERROR: Duplicate wave
    target = target.canary
  }
  wave "rest" {
    target         = target.canary
    failure_budget = -1 # ERROR: Value out of range
  }
  wave "nan" {
    target         = target.canary
    failure_budget = "NaN%" # ERROR: Invalid failure budget
  }
  wave "no_target" { # ERROR: Missing required argument
    failure_budget = "some" # ERROR: Invalid failure budget
  }
}
