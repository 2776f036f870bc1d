package io.lakegate.spark

/**
 * Every error the extension shows a user starts with "lakegate:". Denials name the user, the
 * privilege and the object (the planner's reason says all three); failures to get a decision say
 * which planner could not authorize the query and why. Both fail the query: nothing is ever
 * returned unfiltered.
 */
object LakegateErrors {
  def denied(message: String): LakegateException =
    new LakegateException("lakegate: " + message, null)

  def failure(message: String): LakegateException =
    new LakegateException("lakegate: " + message, null)

  /**
   * Something lakegate refuses on this cluster whatever the policy says (a JVM call, a source it
   * cannot name, a statement it does not govern): names the user, what was refused, and what to ask for.
   */
  def refused(user: String, what: String, ask: String): LakegateException =
    new LakegateException("lakegate: user \"" + user + "\" may not " + what + ". " + ask, null)

  def plannerFailure(address: String, why: String, cause: Throwable = null): LakegateException =
    new LakegateException(s"lakegate: the planner at $address could not authorize this query: $why", cause)
}
