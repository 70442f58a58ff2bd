package redislimit_test

const helperEnv = "REDISLIMIT_TEST_HELPER"

func helperMain() int { return 2 }
