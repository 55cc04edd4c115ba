import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { AuthProvider } from './auth';
import { UploadsProvider } from './uploads';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('no #root element');
createRoot(root).render(
  <StrictMode>
    <AuthProvider>
      <UploadsProvider>
        <App />
      </UploadsProvider>
    </AuthProvider>
  </StrictMode>,
);
