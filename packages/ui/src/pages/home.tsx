/** `/`: straight to the user's own projects when there are any; otherwise the entities to pick from. */
import { Link, Redirect } from 'wouter';
import { projects, roleIn } from '../api';
import { Card, Empty, ErrorBanner, Loading, PageHeader, useLoad } from '../components/ui';
import { paths } from '../routes';
import { useEntities, useSession } from '../session';

export default function Home() {
  const session = useSession();
  const entities = useEntities();
  const own = useLoad(() => projects(session.entity), [session.entity]);
  if (own.loading) return <Loading what="projects" />;
  if (own.data && own.data.length > 0) return <Redirect to={paths.projects(session.entity)} replace />;
  return (
    <>
      <PageHeader title="Welcome to Quiver" subtitle={`Signed in as ${session.actor}.`} />
      <ErrorBanner error={own.error} />
      <Card title="Entities" flush>
        {entities.length === 0 ? (
          <Empty>You are not a member of any team yet.</Empty>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Entity</th>
                <th>Role</th>
                <th>Registry</th>
              </tr>
            </thead>
            <tbody>
              {entities.map((entity) => (
                <tr key={entity}>
                  <td>
                    <Link href={paths.projects(entity)}>{entity}</Link>
                    {entity === session.entity && <span className="faint"> (you)</span>}
                  </td>
                  <td className="muted">{roleIn(session, entity) ?? '—'}</td>
                  <td>
                    <Link href={paths.registry(entity)}>Registered models</Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </>
  );
}
